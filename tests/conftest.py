"""Shared pytest configuration for the course's test suite."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
