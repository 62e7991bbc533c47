"""Excel reporting toolkit for the Kashgar Prefecture New Urbanization Action Plan 2024-2025."""

__version__ = "0.1.0"
