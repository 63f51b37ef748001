"""Evidence capture (取证): a timestamped copy of the pages behind a veto or deduction finding."""
