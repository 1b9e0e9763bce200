"""Property suites against any DMP in the server role: hypothesis generates submissions and sequences of actions,
the DMP's answers are compared with a model of what it must do."""
