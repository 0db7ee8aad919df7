"""The ground floor every layer stands on: the domain models, the error types, text
helpers and measures, files written whole and read within bounds, the settings, the
machine's workload, and the one module that knows every path. It imports no other
package of the program."""
