"""``posenet-ros fleet``: many recordings analysed on Ray, each exactly as ``posenet-ros bag``.

Only this package imports Ray and pyarrow (the ``fleet`` extra); nothing else in posenet_ros,
and never the node, needs them.
"""
