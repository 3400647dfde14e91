# The version of the Go release this package belongs to (release/modules.txt,
# "version v0.1.0"); tests/test_version.py checks that the two agree.
__version__ = "0.1.0"
