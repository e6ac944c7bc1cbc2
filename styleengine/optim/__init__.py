"""The optimization: the painted start, L-BFGS over the picture's pixels, coarse to fine
(``Stylizer``), and the detail pass's tiled objective at the output size."""
