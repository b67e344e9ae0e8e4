"""Offline inference: ``source`` (folder or cache, in batches), ``loop`` (the pipelined loop and the seeds'
stage timers, resumable chunks), ``stage`` (the infer stage: files out, predictions in memory to eval)."""
