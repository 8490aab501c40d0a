"""Integration state: the jobs that carry the hub's changes to the ERP, the WMS and chat tools,
the bindings between the hub's documents and theirs, and the events received from them."""
