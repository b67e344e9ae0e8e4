"""Accuracy: ``metrics`` (top-k, scoring, the gate, agreement), ``files`` (predictions.csv and the seeds'
result.json), ``stage`` (eval from predictions in memory or from files and dumps)."""
