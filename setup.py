"""Present so `scrapyd-deploy` builds the project egg from pyproject.toml instead of writing its own."""

from setuptools import setup

setup()
