"""Unit tests of benchkit (standard library unittest): python3 -m unittest discover -s scripts/benchkit/tests -t scripts"""
