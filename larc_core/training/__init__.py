"""Policy training on the latent cache."""
