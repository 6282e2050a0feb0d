"""The review portal: server-rendered pages for people, beside the JSON API for programs."""
