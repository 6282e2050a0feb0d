"""Telling people what happened: events recorded in the database and readable by cursor."""
