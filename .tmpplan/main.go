package main

import (
	"database/sql"
	"fmt"
	"os"
	"time"

	_ "github.com/glebarez/go-sqlite"
)

func main() {
	db, err := sql.Open("sqlite", "file:"+os.Args[1]+"?mode=ro")
	if err != nil {
		panic(err)
	}
	for _, q := range os.Args[2:] {
		fmt.Println("QUERY:", q)
		rows, err := db.Query("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			panic(err)
		}
		for rows.Next() {
			var id, parent, notused int
			var detail string
			_ = rows.Scan(&id, &parent, &notused, &detail)
			fmt.Println("  ", detail)
		}
		rows.Close()
		t := time.Now()
		r, err := db.Query(q)
		if err != nil {
			panic(err)
		}
		n := 0
		for r.Next() {
			n++
		}
		r.Close()
		fmt.Printf("   %d rows in %s\n", n, time.Since(t))
	}
}
