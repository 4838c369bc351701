/* placeholder */ typedef int memvirt_placeholder_t;
