"""The shared core at the bottom: items, closed sets, clock, dates, text; imports nothing of the project."""
