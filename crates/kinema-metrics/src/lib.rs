//! Clip quality metrics without neural networks: identity, motion, flicker, smoothness, loop seams.
