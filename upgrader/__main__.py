from upgrader.cli import main

raise SystemExit(main())
