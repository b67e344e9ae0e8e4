"""MLPerf LoadGen scenarios over every engine (``zoobench loadgen``): settings per length, the uint8 cache as the
query sample library, SUTs over the Session protocol, LoadGen's logs read back, accuracy mode scored and paired,
one test per child process. ``mlperf_loadgen`` (the ``loadgen`` extra) is imported only where a test runs."""
