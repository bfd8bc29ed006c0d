"""One package per node kind, each with the same shape: ``service`` holds the use cases."""
