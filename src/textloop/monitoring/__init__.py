"""Monitoring live traffic: how far recent requests drift from what production was tested on."""
