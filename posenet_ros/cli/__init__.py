"""The ``posenet-ros`` command line."""
