"""Small helpers shared across paddlefcn."""
