// Boost.JSON's implementation, compiled with the fuzz targets' instrumentation (instead of
// linking Debian's uninstrumented libboost_json).
#include <boost/json/src.hpp>
