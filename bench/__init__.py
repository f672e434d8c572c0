"""nebula_jupyter's benchmark against its peers (issue 5); run ``python -m bench``."""
