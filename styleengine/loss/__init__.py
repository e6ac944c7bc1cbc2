"""What the optimization minimizes: the content, style (Gram and sliced-Wasserstein), layout
and smoothness terms, the objective that weighs them, and the region masks that guide them."""
