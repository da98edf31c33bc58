package parser_test

import (
	"fmt"

	"streamsql/sql/parser"
)

func ExampleParse() {
	stmts, err := parser.Parse(`
		CREATE SOURCE bids (auction bigint, price int, ts timestamp,
			WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
		WITH (connector = 'kafka', topic = 'bids') FORMAT PLAIN ENCODE JSON;
		SELECT count(*) FROM bids;`)
	if err != nil {
		fmt.Println(err)
		return
	}
	src := stmts[0].Ext.(*parser.CreateSource)
	fmt.Println(src.Name, len(src.Table.TableElts), src.Watermarks[0].Column, src.Watermarks[0].ExprSQL)
	fmt.Println(src.Options[0].Key, src.Options[0].Value, src.Format, src.Encode)
	fmt.Println(stmts[1].SQL, stmts[1].Ext == nil)

	_, err = parser.Parse("SELECT 1; CREATE SINK k FROM v WITH (connector = )")
	fmt.Println(err, parser.CharPosition("SELECT 1; CREATE SINK k FROM v WITH (connector = )", 50))
	// Output:
	// bids 3 ts ts - INTERVAL '5' SECOND
	// connector kafka PLAIN JSON
	// SELECT count(*) FROM bids true
	// syntax error at or near ")" 51
}
