"""TEMU marketplace module: TEMU client, sandbox, JTL adapter and the order/stock workflows."""
