"""Pure domain rules of the cloud: plain values in, plain values out, time passed in."""
