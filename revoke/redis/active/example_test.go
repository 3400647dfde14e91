package active_test

import (
	"context"
	"fmt"
	"log"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke/redis/active"
)

// A Tracker is the manager's Observer; Run sends what it buffered once a
// second; Count answers for the whole fleet. (Needs a Redis server: not
// run as a test.)
func Example() {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true}) // so ctx deadlines bound each call
	tr, err := active.New(client, active.Options{OnError: func(err error) { log.Print(err) }})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tr.Run(ctx) // the caller owns the loop

	kr, _ := keyring.Generate()
	m, _ := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true, Observer: tr})
	_ = m // serve m.Handler(app)

	n, err := tr.Count(ctx, 5*time.Minute)
	if err == nil {
		fmt.Printf("%.0f sessions, %.0f users in the last 5 minutes\n", n.Sessions, n.Subjects)
	}
}
