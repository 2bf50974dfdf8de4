"""The network migration: the network layer's inputs, the measured lever, its steps and the NAT flow split."""
