// Command release prepares and checks a release of cookieseal's public
// modules. It reads release/modules.txt (which modules are public, the
// version the next release tags, the minimum Go) and never pushes
// anything: it prints the commands for a maintainer to run.
//
// Run it from anywhere in the checkout:
//
//	go run ./release check           # the rules a release relies on (no replace in a public go.mod, ...)
//	go run ./release bump v0.2.0     # the manifest, sibling requires and go.work replaces → v0.2.0
//	go run ./release tags            # the tags of HEAD, in dependency order, and the git push line
//	go run ./release dryrun [-v]     # fetch every public module from a file:// proxy as a user would
//	go run ./release apidiff [-v]    # API changes since the last tag (or release/api-base)
//	go run ./release tidy [DIR...]   # go mod tidy of modules that require their siblings
//	go run ./release proxy DIR       # write the file:// module proxy of the working tree
//
// # Why a tool
//
// Public modules require their siblings at the version the release tags,
// and carry no replace directive (go install refuses a module that has
// one). Inside the checkout, go.work uses every module and replaces that
// version of each sibling with its directory, so builds and tests work
// from a fresh clone. The go command's mod tidy ignores go.work, and the
// version is on no proxy before the release: tidy, dryrun and proxy serve
// the public modules of the working tree from a file:// module proxy
// (built with golang.org/x/mod/zip, as the module proxy zips a tag), in
// front of the machine's module cache and its own GOPROXY.
//
// The dry run works in fresh modules outside the checkout with
// GOWORK=off, GOTOOLCHAIN=local and the minimum Go as their go line; see
// CONTRIBUTING.md, "Releasing", for what it checks and how long it takes.
package main
