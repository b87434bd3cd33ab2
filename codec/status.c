/* status.c: names and descriptions of mc_status, generated from MC_STATUS_LIST. */
#include "mimecodec/status.h"

const char *mc_strerror(int status)
{
	switch (status) {
#define MC_STATUS_TEXT_(name, value, text) \
	case value:                        \
		return text;
		MC_STATUS_LIST(MC_STATUS_TEXT_)
#undef MC_STATUS_TEXT_
	}
	return "unknown status";
}

const char *mc_status_name(int status)
{
	switch (status) {
#define MC_STATUS_NAME_(name, value, text) \
	case value:                        \
		return #name;
		MC_STATUS_LIST(MC_STATUS_NAME_)
#undef MC_STATUS_NAME_
	}
	return "MC_UNKNOWN";
}
