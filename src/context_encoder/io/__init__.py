"""Files in and out: image decoding and encoding (:mod:`.images`) and safe writes
(:mod:`.files`). The CLI, the server, the datasets and the evaluation all read and write
images through here."""
