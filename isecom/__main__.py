from isecom.cli import main

raise SystemExit(main())
