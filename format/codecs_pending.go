package format

import "streamsql/sql/sqlerr"

func newCSVDecoder(spec Spec, schema Schema) (Decoder, error) {
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ENCODE CSV is not supported yet")
}
func newBytesDecoder(spec Spec, schema Schema) (Decoder, error) {
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ENCODE BYTES is not supported yet")
}
func newAvroDecoder(spec Spec, schema Schema) (Decoder, error) {
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ENCODE AVRO is not supported yet")
}
