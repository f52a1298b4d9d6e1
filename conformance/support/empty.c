/* keeps the support library non-empty */
typedef int ggufref_test_support_empty;
