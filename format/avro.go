package format

import "streamsql/sql/sqlerr"

func newAvroDecoder(spec Spec, schema Schema) (Decoder, error) {
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ENCODE AVRO is not supported yet")
}
