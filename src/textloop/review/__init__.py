"""Feedback from users and the review tasks people work through."""
