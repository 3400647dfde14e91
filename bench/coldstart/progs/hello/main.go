// Command hello is the floor of the cold-start measurement: a Go program
// that prints one line and exits.
package main

import "fmt"

func main() {
	fmt.Println("ok")
}
