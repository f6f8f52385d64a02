"""Publishing: exports, maps, bulletins and seasonal analysis."""
