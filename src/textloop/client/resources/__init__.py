"""The client's resource groups, one module per area of the API; each method names its route."""
