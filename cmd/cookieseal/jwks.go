package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

// keysExportJWKS prints, or writes to a file of mode 0600, the JSON Web
// Key Set that another language's JOSE library needs to read and write the
// JWE sessions of one cookie: the keys derived for its purpose (the name
// given to middleware.New) from every enabled key, with epoch keys for
// every epoch still accepted. It is cookie's InsecureExportJWKSet.
func (e *env) keysExportJWKS(args []string) error {
	fl := e.newFlags("keys export-jwks", "keys export-jwks (-file FILE | -env NAME) -name COOKIE (-out FILE [-force] | -i-know-this-prints-secrets)\n\nWith epoch keys, the epochs still accepted follow the lifetime policy the\nkey set records (absolute timeout, clock skew), as for a session manager\nwith zero timeouts.")
	var ks keySource
	ks.add(fl, "the keys to derive from")
	name := fl.String("name", "", "the cookie's name as given to middleware.New, which is its purpose (required)")
	out := fl.String("out", "", "write the key set to this new file, mode 0600, instead of standard output")
	force := fl.Bool("force", false, "replace an existing -out file")
	ok := fl.Bool("i-know-this-prints-secrets", false, "print the key set on standard output: it decrypts and forges every session of the cookie")
	if err := e.parse(fl, args); err != nil {
		return err
	}
	if err := ks.check(); err != nil {
		return err
	}
	switch {
	case *name == "":
		return usagef("-name is required")
	case *out == "" && !*ok:
		return usagef("the key set decrypts and forges every session of %q; write it to a file with -out FILE (mode 0600), or pass -i-know-this-prints-secrets to print it and send it only to a secret store", *name)
	case *out != "" && *ok:
		return usagef("-out and -i-know-this-prints-secrets both say where the key set goes; give one")
	case *force && *out == "":
		return usagef("-force replaces an -out file; there is none")
	}
	set, err := e.readKeys(ks)
	if err != nil {
		return err
	}
	kr, err := keyring.New(set)
	if err != nil {
		return err
	}
	// The timeouts and skew are the key set's recorded lifetime (the
	// codec takes them from kr), as for a manager that leaves them zero.
	// Every codec opens JWE values, whatever format it seals in, so its
	// JWK set is the same.
	c, err := cookie.New(kr, *name, cookie.Options{Now: e.now})
	if err != nil {
		return usageError{msg: err.Error()}
	}
	jwks, err := c.InsecureExportJWKSet()
	if err != nil {
		return err
	}
	defer clear(jwks)
	jwks = append(jwks, '\n')
	primary := primaryOf(set).ID
	if *out == "" {
		fmt.Fprintf(e.stderr, "cookieseal keys export-jwks: warning: printing secret keys to standard output; writers seal under primary key %d\n", primary)
		_, err = e.stdout.Write(jwks)
		return err
	}
	if err := writeSecretFile(*out, jwks, *force); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists; use -force to replace it", *out)
		}
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "wrote %s: the JWK set of cookie %q (secret, mode 0600); writers seal under primary key %d\n", *out, *name, primary)
	return err
}

// writeSecretFile writes data to path with mode 0600: a new file only,
// unless replace, in which case a temporary file of mode 0600 in the same
// directory is renamed over path (so that an existing file's looser mode
// is not kept). A partial file is never left behind.
func writeSecretFile(path string, data []byte, replace bool) (err error) {
	var f *os.File
	if replace {
		f, err = os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	} else {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if replace {
		return os.Rename(f.Name(), path)
	}
	return nil
}
