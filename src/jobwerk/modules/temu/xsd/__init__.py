"""XML schemas the TEMU module ships (the JTL order import contract)."""
