package udf

func (r *registry) addDatetimeOps()   {}
func (r *registry) addMathFuncs()     {}
func (r *registry) addStringFuncs()   {}
func (r *registry) addDatetimeFuncs() {}
func (r *registry) addMiscFuncs()     {}
func (r *registry) addAggregates()    {}
func (r *registry) addTableFuncs()    {}
