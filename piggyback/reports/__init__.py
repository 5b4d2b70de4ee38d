"""The business case as PDF and Excel, built from the analyses' results."""
