package format

import "streamsql/sql/sqlerr"

type debeziumState struct{}

func (d *jsonDecoder) debezium(m *Message, out *Batch) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "FORMAT DEBEZIUM is not supported yet")
}
func (d *jsonDecoder) canal(m *Message, out *Batch) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "FORMAT CANAL is not supported yet")
}
func (d *jsonDecoder) maxwell(m *Message, out *Batch) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "FORMAT MAXWELL is not supported yet")
}
func newCSVDecoder(spec Spec, schema Schema) (Decoder, error) {
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ENCODE CSV is not supported yet")
}
func newBytesDecoder(spec Spec, schema Schema) (Decoder, error) {
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ENCODE BYTES is not supported yet")
}
func newAvroDecoder(spec Spec, schema Schema) (Decoder, error) {
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ENCODE AVRO is not supported yet")
}
