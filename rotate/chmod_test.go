package rotate

import "runtime"

// chmodWorks is false where the OS keeps no file modes: WASI (wasip1)
// has no chmod, and every file reads back as 0600 under wazero. The
// tests skip their mode checks there, and only those.
var chmodWorks = runtime.GOOS != "wasip1"
