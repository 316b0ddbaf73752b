"""The supervisor's feature: the call records, live queue metrics, reports and the board."""
