"""Physics helpers: particle constants, detector responses, invariant-mass fits."""
