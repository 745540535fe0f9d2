"""Channel edges: one thin module per chat channel or web surface."""
